"""The two ledgers a reviewer reads: the claims ledger (``paper/claims.yaml``: each number the
papers report, against what this run measured; ``claims``, ``claim_ledger``,
``claim_measures_*``) and the findings ledger (``paper/findings.yaml``: each general claim, a
statistic with its CI and a rule fixed in advance; ``findings``, ``finding_core``,
``finding_stats_*``). A ledger reads typed records (the analyses stage's, the stages' own
declared outputs), applies its rules, and never recomputes a statistic the analyses hold.
"""
