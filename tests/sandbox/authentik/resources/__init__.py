"""The API resources of the sandbox: validation, side effects and response shapes of each endpoint, by family.

- base.py: the release-line table (which behaviour appeared at which line), ApiError, Raw, Ctx, the generic
  Resource (list, create, retrieve, update, partial_update, destroy; filters, ordering, pagination)
- core.py: users, groups, flows, the version and the licence summary
- mappings.py: property mappings (all, SAML, SCIM)
- providers.py: /providers/all/ and the shape every provider shares; saml.py and scim.py: the two provider types
- applications.py: applications, policies, policy bindings
- sources.py: OAuth sources; crypto.py: certificate key pairs

server.py imports this package as ``resources`` (its own folder is on sys.path) and serves RESOURCES.
"""
from __future__ import annotations

from .applications import Applications, Policies, PolicyBindings
from .base import ApiError, Ctx, Raw, Resource
from .core import Flows, Groups, LicenseSummary, Users, Version
from .crypto import Certificates
from .mappings import PropertyMappings, SAMLPropertyMappings, SCIMPropertyMappings
from .providers import Providers
from .saml import SAMLProviders
from .scim import SCIMProviders
from .sources import OAuthSources

RESOURCES = (Version, LicenseSummary, Users, Groups, Flows, PropertyMappings, SAMLPropertyMappings,
             SCIMPropertyMappings, Providers, SAMLProviders, SCIMProviders, Applications, PolicyBindings, Policies,
             OAuthSources, Certificates)

__all__ = ["RESOURCES", "ApiError", "Ctx", "Raw", "Resource", "SAMLProviders"]
