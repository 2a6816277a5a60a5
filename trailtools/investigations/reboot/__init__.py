"""Why did this instance restart? ``gather`` reads the evidence about one instance; ``analysis`` names the cause.
"""
