"""The web workbench (C21): one server for commissioners, finance, providers, analysts,
data managers, administrators and the public, each seeing only what their role and
organisation allow.

``views`` gathers what a page shows from the services (contract operations, access,
reports) as plain data; ``pages`` renders it as HTML and ``api`` returns the same data as
JSON under the same checks. No calculation lives here. See docs/workbench.md.
"""
