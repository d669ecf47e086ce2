"""One URL, three renderings, for every filtered list (calls, clips, and the complaint register next).

A list's view is a declaration (``ListView(calls.CallFilters, calls.list_calls, ...)``) and one line,
``return CALL_LIST.respond()``, which answers:

- the whole page, with the filter form (``partials/listing/_filters.html``) and the results;
- for htmx, the results region alone (``partials/<area>/_results.html``): the form GETs the list's
  own address and swaps it;
- for htmx targeting the rows (``HX-Target: <item>-rows``), the rows alone: the table polls them while
  some will change by themselves, and the answer is 286 (htmx: stop polling) once none will.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from webapp import tenancy
from webapp.services import listing
from webapp.views.helpers import is_htmx, render

F = TypeVar("F", bound=listing.Filters)
T = TypeVar("T")


@dataclass(frozen=True)
class ListView(Generic[F, T]):
    """How a list is read (its filters, its service function) and where it is drawn.

    Its templates follow the area: ``pages/<area>/list.html``, ``partials/<area>/_results.html`` and
    ``partials/<area>/_rows.html``; the ids name the item: ``#<item>-results``, ``#<item>-rows``.
    """

    filters: type[F]
    load: Callable[[Session, F], listing.Page[T, F]]
    #: The list's own view, which the form, the pager and the polling rows ask.
    endpoint: str
    area: str
    item: str

    @property
    def template(self) -> str:
        return f"pages/{self.area}/list.html"

    @property
    def results(self) -> str:
        return f"partials/{self.area}/_results.html"

    @property
    def rows(self) -> str:
        return f"partials/{self.area}/_rows.html"

    @property
    def results_id(self) -> str:
        return f"{self.item}-results"

    @property
    def rows_id(self) -> str:
        return f"{self.item}-rows"

    def respond(self) -> Response:
        """The list filtered by the request's query string: the page, the results or the rows."""
        session = tenancy.request_session()
        page = self.load(session, self.filters.from_args(request.args))
        if is_htmx() and request.headers.get("HX-Target") == self.rows_id:
            resp = render(self.rows, page=page, listing=self)
            if not page.has_pending:
                resp.status_code = 286  # htmx: stop polling, nothing shown will change by itself
            return resp
        if is_htmx():
            return render(self.results, page=page, listing=self)
        return render(self.template, page=page, listing=self,
                      choices=listing.tag_choices(session, self.filters))
