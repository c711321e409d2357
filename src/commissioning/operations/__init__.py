"""Contract operations (C13, C16): the system of record around the money arithmetic.

The contract register (versions, signatures, variations), measured values with their
certification, settlement runs with review and approval, period close, disputes, the
verifiable ledger and what is exported from it. Each service is one function named for
what people say ("register", "sign", "certify", "draft a run", "approve run 14", "post",
"close Y1Q2", "raise a dispute"), taking an :class:`~commissioning.operations.base.Operations`
context; the command line, the web pages and the worked scenarios call the same functions.
See docs/contract-operations.md.
"""
