"""Engine: runs a Plan, speaking only in events.

It never prints and never imports rich: presentation, journal and reports
subscribe to its bus.
"""
