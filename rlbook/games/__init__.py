"""rlbook.games"""
