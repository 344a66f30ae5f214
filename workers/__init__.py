"""RQ workers: queue wiring, job entry points and the outbox relay."""
