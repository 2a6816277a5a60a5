"""Who or what made the bill jump? ``gather`` reads the cost source and the trail; ``analysis`` finds the spike, its
drivers and who created them.
"""
