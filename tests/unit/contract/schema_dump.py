"""Print the JSON field names of authentik-client models, as {model: [names]}; run with a release line's python.

    python schema_dump.py MODEL [MODEL ...]

Also prints, under "__version__", the installed authentik-client version. Reads only the models named (the
package's __init__ imports its whole API, which takes seconds).
"""
import importlib
import importlib.util
import json
import os
import re
import sys
import types
from importlib.metadata import version


def load_lazily():
    spec = importlib.util.find_spec("authentik_client")
    if spec is None:
        raise SystemExit("authentik-client is not installed in %s" % sys.executable)
    root = spec.submodule_search_locations[0]
    for name, sub in (("authentik_client", ""), ("authentik_client.models", "models")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(root, sub)]
        sys.modules[name] = module


def module_name(model):
    """SAMLProviderRequest -> saml_provider_request, OAuthSource -> o_auth_source (the generator's names)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", model).lower()


def main(models):
    load_lazily()
    dump = {"__version__": version("authentik-client")}
    for model in models:
        try:
            module = importlib.import_module("authentik_client.models." + module_name(model))
        except ImportError:
            dump[model] = None
            continue
        cls = getattr(module, model)
        dump[model] = sorted((field.alias or name) for name, field in cls.model_fields.items())
    json.dump(dump, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
