"""Scoring: which documents match a query, and how well, as numpy arrays.

Whoosh query --Ranker--> match mask and scores (postings read as whole blocks, BM25F)
phrases from positions, a proximity re-rank of the best few, top-k selection
"""

from searchsvc.scoring.bm25 import idf
from searchsvc.scoring.proximity import DEPTH as PROXIMITY_DEPTH
from searchsvc.scoring.proximity import bonuses as proximity_bonuses
from searchsvc.scoring.ranker import Ranker, top

__all__ = ["PROXIMITY_DEPTH", "Ranker", "idf", "proximity_bonuses", "top"]
