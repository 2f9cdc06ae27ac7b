"""The applications under test. Each folder serves the same contract in its framework's idiom."""
