"""rlbook.shaping"""
