"""One lock for the whole team: a run's lock held in Redis or PostgreSQL, not only on
this machine, so two on-call engineers on two laptops cannot run the same failover at once.

backend.py opens a backend from its URL (`RECOVERCTL_COORDINATION`, or
`coordination:` in the config file); redis_lock.py and postgres_lock.py hold
the lock with a fencing token; lease.py keeps the lease alive in the
background and says when it is lost, so the run stops before its next step.
"""
