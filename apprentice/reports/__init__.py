"""Reports for coordinators: the cohort's progress, activity, hours, mentors' load,
the programme's health and one person's progress over time, each a page with charts
drawn on the server and a CSV. Read from the record model (apprentice.records), so
their numbers are the dashboards' numbers."""
