import BerthCore
print("berth")
