@_exported import BerthCore
