"""rlbook.viz"""
