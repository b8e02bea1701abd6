"""verify stage: published vs reproduced values with tolerances; compare two result folders."""
