from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from celltypes.web.health_checks import public_health, run_health_checks


@never_cache
def health(request: HttpRequest) -> HttpResponse:
    """Database, broker and a worker round-trip; 503 when any of them fails. Only staff (or DEBUG) see details."""
    checks = run_health_checks()
    ok = all(check["ok"] for check in checks.values())
    detailed = settings.DEBUG or request.user.is_staff
    if not detailed:
        checks = public_health(checks)
    status = 200 if ok else 503
    if request.GET.get("format") != "json" and "text/html" in request.headers.get("Accept", ""):
        return render(request, "web/health.html", {"checks": checks, "ok": ok, "detailed": detailed}, status=status)
    return JsonResponse({"ok": ok, "checks": checks}, status=status)
