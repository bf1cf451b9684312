"""Portfolios: a person's record (apprentice.records) as a document someone outside the
app can read, as a page, a PDF, JSON (with its schema) and CSV, and a programme's
certificate once its rule is met.

:func:`apprentice.portfolios.services.portfolio_of` builds one for anybody (a share link
uses it); :func:`~apprentice.portfolios.services.portfolio_for` as a signed-in viewer may
see it. ``templates/apprentice/portfolios/_document.html`` renders one, given
``portfolio``: the page, the PDF and a share link's page all include it.
"""
