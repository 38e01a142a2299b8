# Sphinx configuration of the collection's documentation site (`make docs`; docs/site/build.py fills the source
# directory: antsibull-docs' pages of every module and the role, the guides of docs/ and the README).
# The site is self-contained: no intersphinx inventories to download, a theme whose assets are local.

project = 'sso.authentik'
copyright = 'sso.authentik developers, GPL-3.0-or-later'  # pylint: disable=redefined-builtin
title = 'sso.authentik documentation'
html_short_title = 'sso.authentik'
html_title = 'sso.authentik documentation'

extensions = ['sphinx_antsibull_ext', 'myst_parser']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build']

pygments_style = 'ansible'
highlight_language = 'YAML+Jinja'

html_theme = 'sphinx_rtd_theme'
html_static_path = ['_static']
html_css_files = ['site.css']
html_show_sphinx = False
html_copy_source = False
html_use_index = False
html_use_modindex = False
html_last_updated_fmt = None

# Anchors for the Markdown guides' headings, so that links to a section work.
myst_heading_anchors = 3
myst_enable_extensions = ['colon_fence']

default_role = 'any'
nitpicky = True

# antsibull-docs refers to pages of the Ansible documentation (ansible.builtin plugins, common return values, the
# configuration settings). With no inventory to download, such references are turned into links to
# docs.ansible.com here; any other unresolved reference is still an error (the build runs with -W).
ANSIBLE_DOCS = 'https://docs.ansible.com/projects/ansible/latest/'
ANSIBLE_LABELS = {
    'common_return_values': 'reference_appendices/common_return_values.html',
    'ansible_configuration_settings': 'reference_appendices/config.html',
}
BUILTIN_PREFIX = 'ansible_collections.ansible.builtin.'


def _ansible_docs_url(target):
    if target in ANSIBLE_LABELS:
        return ANSIBLE_DOCS + ANSIBLE_LABELS[target]
    if target.startswith(BUILTIN_PREFIX):
        name, _sep, kind = target[len(BUILTIN_PREFIX):].rpartition('_')
        if name and kind:
            return ANSIBLE_DOCS + 'collections/ansible/builtin/%s_%s.html' % (name, kind)
    return None


def _resolve_ansible_reference(app, env, node, contnode):  # pylint: disable=unused-argument
    from docutils import nodes

    url = _ansible_docs_url(node.get('reftarget', ''))
    if url is None:
        return None
    reference = nodes.reference('', '', internal=False, refuri=url)
    reference.append(contnode)
    return reference


def setup(app):
    app.connect('missing-reference', _resolve_ansible_reference)
