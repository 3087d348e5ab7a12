"""What the user sees. Every output carries text/markdown and text/plain, so a saved
notebook reads well on GitHub, nbviewer and in terminal IPython."""
