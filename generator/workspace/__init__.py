"""The output folder: its manifest, what the last run left, labels and roots, writes."""
