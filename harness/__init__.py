"""Starting the real servers for tests, benchmarks and the load test (not part of the product)."""
