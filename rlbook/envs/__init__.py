"""rlbook.envs"""
