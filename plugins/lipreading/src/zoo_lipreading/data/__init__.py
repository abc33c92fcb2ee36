"""Dataset readers (heavy imports inside functions) and ``lrw500.txt``, LRW's 500 words in class order."""
