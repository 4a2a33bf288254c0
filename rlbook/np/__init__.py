"""rlbook.np"""
