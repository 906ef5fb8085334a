"""Journal: the durable record of a run — append-only events, the runbook as run, an index.

The journal is the truth: `runs`, `show`, `report`, `resume` and `rollback`
read it, through the same reducer the live run used.
"""
