"""fluxfit.datasets"""
