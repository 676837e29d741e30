"""What operators see of the engine: Prometheus metrics and structured logs."""
