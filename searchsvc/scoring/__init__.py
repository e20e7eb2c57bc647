"""Scoring: which documents match a query, and how well, as numpy arrays.

Whoosh query --Ranker--> match mask and scores (postings read as whole blocks, BM25F)
phrases from positions, feedback from the best few (RM3), a proximity re-rank of the best
few, top-k selection (scoring only the matches that can reach the top: topk.py)
"""

from searchsvc.scoring.bm25 import idf
from searchsvc.scoring.feedback import DOCS as FEEDBACK_DOCS
from searchsvc.scoring.feedback import relevance_model
from searchsvc.scoring.feedback import rescore as feedback_rescore
from searchsvc.scoring.forms import form_scores
from searchsvc.scoring.proximity import DEPTH as PROXIMITY_DEPTH
from searchsvc.scoring.proximity import bonuses as proximity_bonuses
from searchsvc.scoring.ranker import Ranker, top
from searchsvc.scoring.topk import best as best_matches

__all__ = [
    "FEEDBACK_DOCS",
    "best_matches",
    "PROXIMITY_DEPTH",
    "feedback_rescore",
    "form_scores",
    "relevance_model",
    "Ranker",
    "idf",
    "proximity_bonuses",
    "top",
]
