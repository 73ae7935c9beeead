"""Activation steering: add scaled emotion vectors to the residual stream during generation."""
