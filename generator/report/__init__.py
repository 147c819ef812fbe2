"""What reviewers and people read: the change summary, diagrams, the map, explanations."""
