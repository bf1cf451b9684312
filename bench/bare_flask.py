"""The bare Flask endpoint the load runner measures beside the app: one route answering
"ok", served by the same gunicorn with the same options, so every figure can be read as
a share of what Flask and gunicorn themselves can do on this machine."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def ok():
    return "ok"
