"""``jssp serve``: a web page and HTTP API that solve uploaded instances (:mod:`jssp.web.app`).

Nothing is imported here, so the solver processes, which import :mod:`jssp.web.tasks`, do not
load FastAPI.
"""
