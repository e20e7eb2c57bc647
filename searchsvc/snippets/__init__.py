"""Snippets: the best passages of a stored text, escaped, with the query's words marked.

QueryTerms (from the searching wing) + text --spans--> matches --highlight--> HTML
"""

from searchsvc.snippets.highlight import highlight_all, lead, snippet
from searchsvc.snippets.terms import QueryTerms

__all__ = ["QueryTerms", "highlight_all", "lead", "snippet"]
