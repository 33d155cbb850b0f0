"""The page the local server shows at `/`: drop images, see their class maps (one static file, package data).

`fcn_keras/export/page/index.html` is plain HTML, CSS and JavaScript with no external URL:
it sends each image to the `:segment` route of the server that served it and draws the
answer. The server writes its model's name into the page's `fcn-model` meta tag.
"""

import functools
import html
import importlib.resources

MODEL_NAME_MARK = "{{MODEL_NAME}}"


def page_html(model_name):
    """The page, as bytes, for the model served as `/v1/models/<model_name>`.

    Example:
        >>> b'<meta name="fcn-model" content="fcn &amp; co">' in page_html("fcn & co")
        True
    """
    return _template().replace(MODEL_NAME_MARK, html.escape(model_name)).encode("utf-8")


@functools.cache
def _template():
    return importlib.resources.files("fcn_keras.export").joinpath("page", "index.html").read_text("utf-8")
