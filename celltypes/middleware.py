import functools
import json
import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.urls import reverse

log = logging.getLogger(__name__)

_LEADING_SLASHES = re.compile(r"^/{2,}")


class CollapseLeadingSlashesMiddleware:
    """`//api/v2/...` -> `/api/v2/...`: the AllenSDK sends it when base_uri ends with a slash."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("//"):
            request.path_info = _LEADING_SLASHES.sub("/", request.path_info)
            request.path = _LEADING_SLASHES.sub("/", request.path)
        return self.get_response(request)


NUL_REFUSED = "a NUL byte (%00) is not allowed in a URL or its parameters"
NUL_CHECKED_PATHS = ("/api/", "/neuronal_model/")  # the pages clean NUL bytes out of their parameters themselves


class RefuseNulBytesMiddleware:
    """In the APIs, a NUL byte in the path or a query parameter is a 400 in that API's own error shape. No value we
    serve holds one, and PostgreSQL refuses it in a text comparison (which would otherwise be a 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(NUL_CHECKED_PATHS) and (
            "\x00" in request.path
            or any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists())
        ):
            return _nul_refused(request.path)
        return self.get_response(request)


def _nul_refused(path: str) -> HttpResponse:
    if path.startswith("/api/v1/"):
        return HttpResponse(json.dumps({"detail": NUL_REFUSED}), status=400, content_type="application/json")
    from celltypes.rma.views import error_response  # the RMA views import the ORM: not at settings load

    return error_response("xml" if path.endswith(".xml") else "json", NUL_REFUSED)  # Allen's envelope


def allows_webgl_plots(view):
    """Give the view's pages settings.CONTENT_SECURITY_POLICY_WEBGL (plotly's WebGL traces need 'unsafe-eval')."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY_WEBGL
        return response

    return wrapped


class ContentSecurityPolicyMiddleware:
    """Add settings.CONTENT_SECURITY_POLICY to every response that does not carry a policy of its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.CONTENT_SECURITY_POLICY
        return response


class AdminLoginThrottleMiddleware:
    """Answer 429 to an admin login attempt from an address that failed CELLTYPES_ADMIN_LOGIN_FAILURES times in the
    last CELLTYPES_ADMIN_LOGIN_WINDOW seconds. A failed login is the login form answered again (200); a success
    (a redirect) clears the count. The count lives in the default cache; if the cache fails, logins are not
    throttled (and the failure is logged) rather than refused."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method != "POST" or request.path_info != reverse("admin:login"):
            return self.get_response(request)
        key = f"admin-login-failures:{request.META.get('REMOTE_ADDR', '')}"
        window = settings.CELLTYPES_ADMIN_LOGIN_WINDOW
        if (_cache_call(cache.get, key, 0) or 0) >= settings.CELLTYPES_ADMIN_LOGIN_FAILURES:
            response = HttpResponse(
                "Too many failed logins from this address; try again later.\n",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(window)
            return response
        response = self.get_response(request)
        if response.status_code == 200:
            if not _cache_call(cache.add, key, 1, window):
                _cache_call(cache.incr, key)
        elif 300 <= response.status_code < 400:
            _cache_call(cache.delete, key)
        return response


def _cache_call(method, *args):
    try:
        return method(*args)
    except ValueError:  # incr of a count that expired in between
        return None
    except Exception:
        log.warning("the admin login throttle cannot reach the cache", exc_info=True)
        return None
