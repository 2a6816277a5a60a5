"""Did someone log in who shouldn't have? ``gather`` loads the window and its baseline; ``analysis`` judges the
console sign-ins, ``credentials`` the API credentials, ``ssh`` the guest's SSH logins.
"""
