"""gunicorn settings for every way celltypes is served with gunicorn (scripts/run.sh, the Dockerfile, the test
servers): gunicorn reads ./gunicorn.conf.py from the directory it starts in. Command-line flags still win.

Request line. Allen's query language travels in the URL, and the RMA parser takes a query of up to MAX_LENGTH
characters, answering a longer or broken one with Allen's JSON envelope. gunicorn's own limit (4,094 bytes by
default, and it caps any setting at 8,190) would answer first, with an HTML 400 the AllenSDK cannot read. So the
limit holds a query at the parser's limit with every character percent-encoded, and the cap is raised to match.
"""

import gunicorn.http.message

from celltypes.rma.parser import MAX_LENGTH

limit_request_line = 3 * MAX_LENGTH + 4096  # bytes: "GET /api/v2/data/query.json?q=" + 3 bytes a character + more
gunicorn.http.message.MAX_REQUEST_LINE = limit_request_line + 1  # gunicorn caps the setting below this constant
