"""rlbook.act"""
