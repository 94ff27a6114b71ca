"""Use cases: authorize -> load -> call the domain -> save -> record -> commit."""
