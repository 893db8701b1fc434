"""smart_charging: charging profiles, stack levels, the composite schedule and the limit in force.

Owns: charging profiles (SQLite). Its features come with the Smart Charging issue; until then it
runs its life cycle only and publishes no limit (power then applies its hardware maximum).
"""
