"""rlbook.learners"""
