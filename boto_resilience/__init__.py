"""boto_resilience"""
