"""Server-rendered pages: the poll a worker answers on a phone, the enterprise's survey, the
admin's dashboard and form builder; their templates, static files, sessions and CSRF."""
