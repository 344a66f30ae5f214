"""Port Ellis, the generated demo city: nothing downloaded, everything from a seed.

``city`` lays out its shape, districts and landmarks; ``services`` its report
categories (a ``services load`` file); ``reports`` draws a year of believable
reports; ``build`` loads all of it through the same paths as a real city's data.
"""
