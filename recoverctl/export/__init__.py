"""Export: the plan in other shapes — diagrams now, other engines' formats later."""
