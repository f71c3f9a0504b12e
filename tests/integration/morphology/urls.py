"""The site's URLs plus the morphology routes, until celltypes/urls.py includes them itself."""

from django.urls import include, path

from celltypes import urls as site

urlpatterns = list(site.urlpatterns)
if not any(getattr(p, "namespace", None) == "morphology" for p in urlpatterns):
    urlpatterns.insert(0, path("", include("celltypes.web.urls_morphology")))
