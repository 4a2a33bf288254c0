"""rlbook.moe"""
