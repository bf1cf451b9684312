"""Load and fault runs against the app under gunicorn (marker ``load``)."""
