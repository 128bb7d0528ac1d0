"""Readers turn files into a model graph or data chunks. None of them imports TensorFlow."""
